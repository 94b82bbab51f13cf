package template

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// keepSource keeps the text of a file the decoder reads, by the name
// messages show, so that ExprPlace can find places inside its values.
func (l *Decoder) keepSource(file string, data []byte) {
	if l.sources == nil {
		l.sources = map[string][]string{}
	}
	l.sources[file] = strings.Split(string(data), "\n")
}

// ExprPlace maps a place inside an expression (1-based line, 0-based
// column of the expression text) to the line and column of the template
// file it is written on, given the YAML node that holds the expression.
// The text of the value is followed through the source, so that a block
// (| or >), a plain text folded over lines, quotes and escaped quotes are
// allowed for; where the source can't be followed, ExprPos guesses.
func (l *Decoder) ExprPlace(n *yaml.Node, line, col int) (int, int) {
	if line <= 0 {
		return n.Line, n.Column
	}
	if src := l.sources[l.fileOf(n)]; src != nil {
		if ln, c, ok := valuePlace(src, n, line, col); ok {
			return ln, c
		}
	}
	return ExprPos(n, line, col)
}

// valuePlace finds the place in src (the file's lines) of the rune at
// line and col of n's value.
func valuePlace(src []string, n *yaml.Node, line, col int) (int, int, bool) {
	value := []rune(n.Value)
	target := 0
	for l := 1; l < line; l++ {
		i := indexRune(value[target:], '\n')
		if i < 0 {
			return 0, 0, false
		}
		target += i + 1
	}
	target += col
	if target >= len(value) || n.Line < 1 || n.Line > len(src) {
		return 0, 0, false
	}
	// The source cursor: a line (0-based) and a rune in it.
	r := n.Line - 1
	text := []rune(strings.TrimRight(src[r], "\r"))
	c := n.Column - 1
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		c = len(text) // the text starts on the line after the indicator
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		c++
	}
	quote := map[yaml.Style]rune{yaml.DoubleQuotedStyle: '\\', yaml.SingleQuotedStyle: '\''}[n.Style]
	for i := 0; i <= target; i++ {
		for {
			if c >= len(text) {
				// The end of a source line: a line break or a space of the
				// value, or lines and indentation it leaves out.
				if r+1 >= len(src) {
					return 0, 0, false
				}
				r, c = r+1, 0
				text = []rune(strings.TrimRight(src[r], "\r"))
				if value[i] == '\n' || value[i] == ' ' {
					break
				}
				continue
			}
			s := text[c]
			if s == value[i] {
				if i == target {
					return r + 1, c + 1, true
				}
				c++
				break
			}
			if s == ' ' || s == '\t' || quote != 0 && s == quote {
				c++ // indentation, or the escape of a quote
				continue
			}
			return 0, 0, false
		}
	}
	return 0, 0, false
}

func indexRune(rs []rune, r rune) int {
	for i, x := range rs {
		if x == r {
			return i
		}
	}
	return -1
}
