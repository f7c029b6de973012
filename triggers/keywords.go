package triggers

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// keyword is one keyword of a filter, folded as the text it is looked for in.
type keyword struct {
	folded string
	// wordStart and wordEnd: the keyword begins (ends) with a letter, digit or mark, so a match must
	// not continue a word on that side. "c++" or "#ops" need no boundary after "+" or before "#".
	wordStart, wordEnd bool
}

func newKeyword(k string) keyword {
	folded := foldText(k)
	first, _ := utf8.DecodeRuneInString(folded)
	last, _ := utf8.DecodeLastRuneInString(folded)
	return keyword{folded: folded, wordStart: isWordRune(first), wordEnd: isWordRune(last)}
}

// in reports whether the keyword occurs in folded (text folded with foldText) as a whole word: not
// preceded or followed by a letter, digit, mark or underscore of the same word. Scripts written
// without spaces between words (Han, kana, Thai, Lao, Khmer, Myanmar) have no such boundary, so a
// keyword in them, or next to them, matches wherever it occurs.
func (k keyword) in(folded string) bool {
	if k.folded == "" {
		return false
	}
	for from := 0; from < len(folded); {
		i := strings.Index(folded[from:], k.folded)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(k.folded)
		if k.boundaryBefore(folded, start) && k.boundaryAfter(folded, end) {
			return true
		}
		_, size := utf8.DecodeRuneInString(folded[start:])
		from = start + size
	}
	return false
}

func (k keyword) boundaryBefore(text string, start int) bool {
	if start == 0 || !k.wordStart {
		return true
	}
	prev, _ := utf8.DecodeLastRuneInString(text[:start])
	first, _ := utf8.DecodeRuneInString(k.folded)
	return !isWordRune(prev) || spaceless(prev) || spaceless(first)
}

func (k keyword) boundaryAfter(text string, end int) bool {
	if end == len(text) || !k.wordEnd {
		return true
	}
	next, _ := utf8.DecodeRuneInString(text[end:])
	last, _ := utf8.DecodeLastRuneInString(k.folded)
	return !isWordRune(next) || spaceless(next) || spaceless(last)
}

// foldText puts s in a form where two texts a reader calls the same compare equal: Unicode NFC (a
// precomposed é and e + combining accent are one), each character replaced by one representative
// of its simple case-folding class (Unicode's case folding without the mappings that change a
// character's count, such as ß → ss: K, k and the Kelvin sign K are one, as are Σ, σ and ς), and
// each run of white space (spaces, tabs, line breaks) one space.
func foldText(s string) string {
	if isASCII(s) {
		return foldASCII(s)
	}
	s = norm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldASCII is foldText of an ASCII s (already NFC), byte by byte.
func foldASCII(s string) string {
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || ('\t' <= c && c <= '\r'):
			if !space {
				b = append(b, ' ')
			}
			space = true
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		space = false
		b = append(b, c)
	}
	return string(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldRune is the smallest rune of r's simple case-folding orbit: the same for every rune of it.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	smallest := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		smallest = min(smallest, f)
	}
	return smallest
}

// isWordRune reports whether r continues a word: a letter, a digit, a combining mark or "_".
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_'
}

// spaceless reports whether r belongs to a script written without spaces between words.
func spaceless(r rune) bool {
	return r >= 0x0E00 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai,
		unicode.Lao, unicode.Khmer, unicode.Myanmar)
}
