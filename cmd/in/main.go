// Command in is the resource's /opt/resource/in.
package main

import (
	"context"

	"github.com/refimage/refimage/in"
	"github.com/refimage/refimage/internal/cli"
	"github.com/refimage/refimage/resource"
)

func main() {
	cli.Main(func(ctx context.Context, env cli.Env, req resource.InRequest) (any, error) {
		return in.Run(ctx, req, env.Arg(0), in.WithLogger(env.Log), in.WithProgress(env.Stderr),
			in.InKubernetesPod(env.KubernetesPod), in.WithClientOptions(env.ClientOptions()...))
	})
}
