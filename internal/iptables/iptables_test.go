package iptables_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/refimage/refimage/internal/iptables"
)

func TestIptables(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "iptables Suite")
}

var _ = Describe("Args", func() {
	DescribeTable("splits a rule as iptables prints it",
		func(rule string, want []string) {
			Expect(iptables.Args(rule)).To(Equal(want))
		},
		Entry("plain words", "-A INPUT -i br0 -j DROP", []string{"-A", "INPUT", "-i", "br0", "-j", "DROP"}),
		Entry("a quoted comment with spaces", `-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -j DROP`,
			[]string{"-A", "KUBE-FIREWALL", "-m", "comment", "--comment", "block incoming localnet connections", "-j", "DROP"}),
		Entry("an escaped quote inside quotes", `-m comment --comment "name: \"concourse\" id" -j X`,
			[]string{"-m", "comment", "--comment", `name: "concourse" id`, "-j", "X"}),
		Entry("an empty quoted word", `--comment "" -j X`, []string{"--comment", "", "-j", "X"}),
		Entry("runs of spaces", "-j  DROP ", []string{"-j", "DROP"}),
	)

	It("gives the arguments that delete an -A line from its table", func() {
		Expect(iptables.DeleteArgs("nat", `-A POSTROUTING -s 10.0.0.0/24 -m comment --comment "a b" -j CNI-1`)).To(Equal(
			[]string{"-t", "nat", "-D", "POSTROUTING", "-s", "10.0.0.0/24", "-m", "comment", "--comment", "a b", "-j", "CNI-1"}))
	})
})
