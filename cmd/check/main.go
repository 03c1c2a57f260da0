// Command check is the resource's /opt/resource/check.
package main

import (
	"context"

	"github.com/refimage/refimage/check"
	"github.com/refimage/refimage/internal/cli"
	"github.com/refimage/refimage/resource"
)

func main() {
	cli.Main(func(ctx context.Context, env cli.Env, req resource.CheckRequest) (any, error) {
		return check.Run(ctx, req, check.WithLogger(env.Log), check.WithClientOptions(env.ClientOptions()...))
	})
}
