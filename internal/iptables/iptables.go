// Package iptables reads firewall rules as iptables-save and iptables -S
// print them, for the end-to-end suites that delete what they, kubelet and
// CNI added to the host's firewall.
package iptables

import "strings"

// Args splits a rule as iptables prints it into the arguments that give it
// back: words separated by spaces, with double quotes around a word that
// holds spaces (comments) and backslash escapes inside them. A quoted
// empty word ("") is kept.
func Args(rule string) []string {
	var out []string
	var cur strings.Builder
	quoted, escaped, has := false, false, false
	flush := func() {
		if cur.Len() > 0 || has {
			out = append(out, cur.String())
		}
		cur.Reset()
		has = false
	}
	for _, r := range rule {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\':
			escaped = true
		case r == '"':
			quoted, has = !quoted, true
		case r == ' ' && !quoted:
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

// DeleteArgs returns the iptables arguments that delete rule, an
// "-A CHAIN ..." line, from table.
func DeleteArgs(table, rule string) []string {
	return append([]string{"-t", table, "-D"}, Args(strings.TrimPrefix(rule, "-A "))...)
}
