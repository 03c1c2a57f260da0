package registry_test

import (
	"go/ast"
	"go/parser"
	"go/token"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// A wall-clock reading (time.Unix, UnixNano) has no monotonic part: idle
// time computed from one jumps with the wall clock (a VM resumed, an NTP
// step) and aborts healthy requests. A test cannot step the machine's
// clock, so this one reads the watchdog's source: it keeps idle time as
// time.Since of a start, which Go measures on the monotonic clock.
var _ = Describe("the stall watchdog's clock", func() {
	It("is monotonic: stall.go never turns a time into wall-clock numbers and back", func() {
		f, err := parser.ParseFile(token.NewFileSet(), "stall.go", nil, 0)
		Expect(err).NotTo(HaveOccurred())
		var wall []string
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				switch sel.Sel.Name {
				case "Unix", "UnixNano", "UnixMilli", "UnixMicro", "Round", "Truncate":
					wall = append(wall, sel.Sel.Name)
				}
			}
			return true
		})
		Expect(wall).To(BeEmpty())
	})
})
