package bantime

import (
	"fmt"
	"strconv"
	"strings"
)

// tokenize splits a Python expression into tokens: names, numbers and
// operators. Whitespace only separates tokens. It fails on a character
// that cannot start a token.
func tokenize(s string) ([]string, error) {
	var toks []string
	isName := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == '_') {
				j++
			}
			// exponent: 1e5, 2.5E-3
			if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
				k := j + 1
				if k < len(s) && (s[k] == '+' || s[k] == '-') {
					k++
				}
				if k < len(s) && s[k] >= '0' && s[k] <= '9' {
					for k < len(s) && s[k] >= '0' && s[k] <= '9' {
						k++
					}
					j = k
				}
			}
			toks = append(toks, s[i:j])
			i = j
		case isName(c):
			j := i
			for j < len(s) && isName(s[j]) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			if i+1 < len(s) {
				switch two := s[i : i+2]; two {
				case "<<", ">>", "**", "//", "<=", ">=", "==", "!=":
					toks = append(toks, two)
					i += 2
					continue
				}
			}
			if !strings.ContainsRune("+-*/%()<>,.", rune(c)) {
				return nil, fmt.Errorf("unexpected character %q", c)
			}
			toks = append(toks, string(c))
			i++
		}
	}
	return toks, nil
}

// normalize renders an expression as its tokens joined by single spaces,
// without redundant parentheses around the whole expression, so that
// spellings differing only in whitespace compare equal.
func normalize(s string) (string, error) {
	toks, err := tokenize(s)
	if err != nil {
		return "", err
	}
	for len(toks) >= 2 && toks[0] == "(" && toks[len(toks)-1] == ")" && closes(toks) == len(toks)-1 {
		toks = toks[1 : len(toks)-1]
	}
	return strings.Join(toks, " "), nil
}

// closes returns the index of the parenthesis closing toks[0], or -1.
func closes(toks []string) int {
	depth := 0
	for i, t := range toks {
		switch t {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// evalNumber evaluates a constant arithmetic expression as Python does
// for bantime.factor: numbers, unary + and -, binary + - * / (true
// division) and parentheses. It fails on anything else (names, calls,
// other operators) and on division by zero.
func evalNumber(s string) (float64, error) {
	toks, err := tokenize(s)
	if err != nil {
		return 0, err
	}
	if len(toks) == 0 {
		return 0, fmt.Errorf("empty expression")
	}
	p := &numParser{toks: toks}
	v, err := p.sum()
	if err != nil {
		return 0, err
	}
	if p.pos != len(p.toks) {
		return 0, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return v, nil
}

type numParser struct {
	toks []string
	pos  int
}

func (p *numParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *numParser) sum() (float64, error) {
	v, err := p.product()
	if err != nil {
		return 0, err
	}
	for op := p.peek(); op == "+" || op == "-"; op = p.peek() {
		p.pos++
		w, err := p.product()
		if err != nil {
			return 0, err
		}
		if op == "+" {
			v += w
		} else {
			v -= w
		}
	}
	return v, nil
}

func (p *numParser) product() (float64, error) {
	v, err := p.unary()
	if err != nil {
		return 0, err
	}
	for op := p.peek(); op == "*" || op == "/"; op = p.peek() {
		p.pos++
		w, err := p.unary()
		if err != nil {
			return 0, err
		}
		if op == "*" {
			v *= w
		} else {
			if w == 0 {
				return 0, fmt.Errorf("division by zero")
			}
			v /= w
		}
	}
	return v, nil
}

func (p *numParser) unary() (float64, error) {
	switch p.peek() {
	case "+":
		p.pos++
		return p.unary()
	case "-":
		p.pos++
		v, err := p.unary()
		return -v, err
	case "(":
		p.pos++
		v, err := p.sum()
		if err != nil {
			return 0, err
		}
		if p.peek() != ")" {
			return 0, fmt.Errorf("missing )")
		}
		p.pos++
		return v, nil
	case "":
		return 0, fmt.Errorf("unexpected end of expression")
	}
	t := p.toks[p.pos]
	if t[0] != '.' && (t[0] < '0' || t[0] > '9') {
		return 0, fmt.Errorf("unsupported %q (only numbers, + - * / and parentheses)", t)
	}
	if strings.Contains(t, "_") && (strings.Contains(t, "__") || strings.HasSuffix(t, "_") || strings.Contains(t, "._") || strings.Contains(t, "_.")) {
		return 0, fmt.Errorf("invalid number %q", t)
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	if err != nil {
		return 0, fmt.Errorf("invalid number %q", t)
	}
	p.pos++
	return v, nil
}
