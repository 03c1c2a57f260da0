// Package out pushes an image and its tags.
package out

import (
	"context"
	"errors"

	"github.com/refimage/refimage/resource"
)

// Run answers an out request from the directory args[0].
func Run(ctx context.Context, req resource.OutRequest, args []string) (resource.VersionResponse, error) {
	return resource.VersionResponse{}, errors.New("out: not implemented yet")
}
