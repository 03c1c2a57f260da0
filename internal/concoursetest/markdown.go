package concoursetest

import (
	"fmt"
	"strings"
)

// Block is one fenced code block of a Markdown file.
type Block struct {
	// Lang is the info string after the opening fence ("yaml", "text").
	Lang string
	Text string
	// Line is the line of the opening fence, counted from 1.
	Line int
}

// Blocks returns the fenced code blocks of a Markdown text, in order.
func Blocks(markdown string) ([]Block, error) {
	var out []Block
	var cur *Block
	for i, line := range strings.Split(markdown, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &Block{Lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), Line: i + 1}
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.Text += line + "\n"
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("read code blocks: the block opened on line %d is not closed", cur.Line)
	}
	return out, nil
}

// IsYAML says whether a block's language is YAML.
func (b Block) IsYAML() bool { return b.Lang == "yaml" || b.Lang == "yml" }
