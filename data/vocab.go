package data

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// UnknownID is the id of the reserved unknown symbol: every rune that is not
// in a vocabulary (and every invalid UTF-8 byte) encodes to it.
const UnknownID int32 = 0

// UnknownRune is what the unknown symbol decodes to (U+FFFD, the Unicode
// replacement character). It is never an ordinary vocabulary entry.
const UnknownRune = utf8.RuneError

// Vocab maps Unicode runes to ids 1..Size()−1 (id 0 is the unknown symbol).
// It is immutable after construction and safe for concurrent use.
type Vocab struct {
	runes []rune         // runes[id], runes[0] = UnknownRune
	ascii [128]int32     // fast path for ASCII
	ids   map[rune]int32 // the rest
}

// NewVocab builds the vocabulary of every distinct rune in the texts, in
// code-point order (so the same characters give the same ids whatever order
// the texts come in). Invalid UTF-8 and U+FFFD are left to the unknown
// symbol.
func NewVocab(texts ...string) *Vocab { return NewVocabMinCount(1, texts...) }

// NewVocabMinCount is NewVocab keeping only the runes that occur at least
// minCount times in all the texts together; rarer ones become unknown (a
// way to bound the vocabulary of a large Chinese text).
func NewVocabMinCount(minCount int, texts ...string) *Vocab {
	count := map[rune]int{}
	for _, t := range texts {
		for _, r := range t {
			count[r]++
		}
	}
	delete(count, UnknownRune)
	rs := make([]rune, 0, len(count))
	for r, n := range count {
		if n >= minCount {
			rs = append(rs, r)
		}
	}
	slices.Sort(rs)
	v, _ := VocabFromRunes(rs) // sorted, distinct, valid: cannot fail
	return v
}

// VocabFromRunes builds a vocabulary whose id i+1 is rs[i]. The runes must
// be distinct valid Unicode scalar values other than U+FFFD.
func VocabFromRunes(rs []rune) (*Vocab, error) {
	v := &Vocab{runes: make([]rune, 0, len(rs)+1), ids: map[rune]int32{}}
	v.runes = append(v.runes, UnknownRune)
	for i, r := range rs {
		switch {
		case r == UnknownRune:
			return nil, fmt.Errorf("data: vocabulary entry %d is U+FFFD, which is reserved for the unknown symbol", i)
		case !utf8.ValidRune(r):
			return nil, fmt.Errorf("data: vocabulary entry %d (%#x) is not a valid Unicode scalar value", i, r)
		case v.ID(r) != UnknownID:
			return nil, fmt.Errorf("data: vocabulary entry %d (%q) repeats entry %d", i, r, v.ID(r)-1)
		}
		id := int32(len(v.runes))
		v.runes = append(v.runes, r)
		if r < 128 {
			v.ascii[r] = id
		} else {
			v.ids[r] = id
		}
	}
	return v, nil
}

// Size is the number of ids, including the unknown symbol.
func (v *Vocab) Size() int { return len(v.runes) }

// ID returns the id of r, or UnknownID.
func (v *Vocab) ID(r rune) int32 {
	if r >= 0 && r < 128 {
		return v.ascii[r]
	}
	return v.ids[r] // 0 when absent
}

// Rune returns the rune of id; UnknownRune for 0 and for ids out of range.
func (v *Vocab) Rune(id int32) rune {
	if id <= 0 || int(id) >= len(v.runes) {
		return UnknownRune
	}
	return v.runes[id]
}

// Runes returns the vocabulary entries in id order, starting at id 1.
func (v *Vocab) Runes() []rune { return slices.Clone(v.runes[1:]) }

// Encode returns the ids of the runes of s.
func (v *Vocab) Encode(s string) []int32 {
	return v.AppendEncode(make([]int32, 0, utf8.RuneCountInString(s)), s)
}

// AppendEncode appends the ids of the runes of s to dst.
func (v *Vocab) AppendEncode(dst []int32, s string) []int32 {
	for _, r := range s {
		dst = append(dst, v.ID(r))
	}
	return dst
}

// Decode returns the text of ids; the unknown symbol and ids out of range
// become UnknownRune.
func (v *Vocab) Decode(ids []int32) string {
	var b strings.Builder
	b.Grow(len(ids))
	for _, id := range ids {
		b.WriteRune(v.Rune(id))
	}
	return b.String()
}

// vocabJSON is the marshalled form: the runes of ids 1.. as one string.
type vocabJSON struct {
	Kind    string `json:"kind"`    // "runes"
	Unknown int32  `json:"unknown"` // always 0
	Symbols string `json:"symbols"`
}

// MarshalJSON encodes v as {"kind":"runes","unknown":0,"symbols":"..."}, the
// symbols string holding the runes of ids 1, 2, ... in order.
func (v *Vocab) MarshalJSON() ([]byte, error) {
	return json.Marshal(vocabJSON{Kind: "runes", Unknown: UnknownID, Symbols: string(v.runes[1:])})
}

// UnmarshalJSON decodes what MarshalJSON wrote, checking every entry.
func (v *Vocab) UnmarshalJSON(b []byte) error {
	var j vocabJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("data: vocabulary JSON: %w", err)
	}
	if j.Kind != "runes" {
		return fmt.Errorf("data: vocabulary JSON: kind %q, want \"runes\"", j.Kind)
	}
	if j.Unknown != UnknownID {
		return fmt.Errorf("data: vocabulary JSON: unknown id %d, want %d", j.Unknown, UnknownID)
	}
	if !utf8.ValidString(j.Symbols) {
		// encoding/json replaces invalid UTF-8 with U+FFFD, so this is a guard
		// for other producers.
		return fmt.Errorf("data: vocabulary JSON: symbols are not valid UTF-8")
	}
	nv, err := VocabFromRunes([]rune(j.Symbols))
	if err != nil {
		return err
	}
	*v = *nv
	return nil
}
