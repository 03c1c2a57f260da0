// Command out is the resource's /opt/resource/out.
package main

import (
	"context"

	"github.com/refimage/refimage/internal/cli"
	"github.com/refimage/refimage/out"
	"github.com/refimage/refimage/resource"
)

func main() {
	cli.Main(func(ctx context.Context, env cli.Env, req resource.OutRequest) (any, error) {
		return out.Run(ctx, req, env.Arg(0), out.WithLogger(env.Log), out.WithClientOptions(env.ClientOptions()...))
	})
}
