package cli

// Version is the release the executable was built from. The image build
// stamps it with -ldflags -X (see ci/resourceimage); go build alone leaves
// "dev".
var Version = "dev"
