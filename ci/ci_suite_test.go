package ci_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestCI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "ci")
}
