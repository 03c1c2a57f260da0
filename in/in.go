// Package in fetches a version of an image: its reference, or the whole
// image in registry-image's formats.
package in

import (
	"context"
	"errors"

	"github.com/refimage/refimage/resource"
)

// Run answers an in request into the directory args[0].
func Run(ctx context.Context, req resource.InRequest, args []string) (resource.VersionResponse, error) {
	return resource.VersionResponse{}, errors.New("in: not implemented yet")
}
