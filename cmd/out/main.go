// Command out is the resource's /opt/resource/out.
package main

import (
	"context"
	"errors"

	"github.com/refimage/refimage/internal/cli"
	"github.com/refimage/refimage/out"
	"github.com/refimage/refimage/resource"
)

func main() {
	cli.Main(func(ctx context.Context, env cli.Env, req resource.OutRequest) (any, error) {
		if len(env.Args) != 1 {
			return nil, errors.New("usage: out DIR, where DIR holds the put's inputs (Concourse passes it)")
		}
		return out.Run(ctx, req, env.Args[0], out.WithLogger(env.Log))
	})
}
