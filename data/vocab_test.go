package data

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVocabKnownIDs(t *testing.T) {
	v := NewVocab("hello", "héllo 世界")
	// Distinct runes in code-point order: ' ' e h l o é 世 界; id 0 unknown.
	assert.Equal(t, 9, v.Size())
	assert.Equal(t, []rune{' ', 'e', 'h', 'l', 'o', 'é', '世', '界'}, v.Runes())
	assert.Equal(t, []int32{3, 2, 4, 4, 5}, v.Encode("hello"))
	assert.Equal(t, []int32{7, 8, 1, 6}, v.Encode("世界 é"))
	assert.Equal(t, []int32{3, 0, 0, 5}, v.Encode("hXYo"), "runes outside the vocabulary are unknown")
	assert.Equal(t, "h\uFFFD\uFFFDo", v.Decode([]int32{3, 0, 0, 5}))
	assert.Equal(t, "\uFFFD\uFFFD", v.Decode([]int32{-1, 9}), "out-of-range ids decode as unknown")
	assert.Equal(t, []int32{3, 0, 5}, v.Encode("h\xffo"), "invalid UTF-8 is unknown")
	assert.Equal(t, UnknownID, v.ID('\uFFFD'))
	// The order of the texts does not matter.
	assert.Equal(t, v.Runes(), NewVocab("héllo 世界", "hello").Runes())
}

func TestVocabRoundTrips(t *testing.T) {
	en, err := LoadCorpus("austen")
	require.NoError(t, err)
	zh, err := LoadCorpus("tang300")
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		text     string
		size     int // distinct runes + unknown
		minRunes int
	}{
		{"english corpus", en, 76, 680000},
		{"chinese corpus", zh, 0, 28000},
		{"chinese poem", "《静夜思》\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n", 0, 30},
		{"mixed", "Go 语言 🚀 naïve café\n", 0, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVocab(tc.text)
			if tc.size > 0 {
				assert.Equal(t, tc.size, v.Size())
			}
			ids := v.Encode(tc.text)
			assert.Len(t, ids, utf8.RuneCountInString(tc.text), "one id per rune, not per byte")
			assert.GreaterOrEqual(t, len(ids), tc.minRunes)
			assert.NotContains(t, ids, UnknownID, "every rune of the text is in its own vocabulary")
			assert.Equal(t, tc.text, v.Decode(ids))

			b, err := json.Marshal(v)
			require.NoError(t, err)
			var w Vocab
			require.NoError(t, json.Unmarshal(b, &w))
			assert.Equal(t, v.Runes(), w.Runes())
			assert.Equal(t, ids, w.Encode(tc.text))
		})
	}
}

func TestChineseCorpusVocab(t *testing.T) {
	zh, err := LoadCorpus("tang300")
	require.NoError(t, err)
	v := NewVocab(zh)
	// 2579 distinct characters (Python: len(collections.Counter(text))),
	// each one id, plus the unknown symbol.
	assert.Equal(t, 2580, v.Size())
	assert.NotEqual(t, UnknownID, v.ID('春'))
	assert.NotEqual(t, UnknownID, v.ID('月'))
	line := "春眠不觉晓，处处闻啼鸟。"
	ids := v.Encode(line)
	assert.Len(t, ids, 12)
	assert.Equal(t, ids[6], ids[7], "处处: same character, same id")
	assert.Equal(t, line, v.Decode(ids))

	// Keeping characters seen at least 2 or 5 times (Python: 1767 and 990).
	assert.Equal(t, 1768, NewVocabMinCount(2, zh).Size())
	v5 := NewVocabMinCount(5, zh)
	assert.Equal(t, 991, v5.Size())
	assert.Contains(t, v5.Decode(v5.Encode(zh)), "\uFFFD", "rare characters become unknown")
}

func TestVocabJSON(t *testing.T) {
	v := NewVocab("ab\n\"世")
	b, err := json.Marshal(v)
	require.NoError(t, err)
	assert.JSONEq(t, `{"kind":"runes","unknown":0,"symbols":"\n\"ab世"}`, string(b))

	// Inside a string→string metadata map, as in a weight file.
	meta := map[string]string{"vocab": string(b)}
	mb, err := json.Marshal(meta)
	require.NoError(t, err)
	var back map[string]string
	require.NoError(t, json.Unmarshal(mb, &back))
	var w Vocab
	require.NoError(t, json.Unmarshal([]byte(back["vocab"]), &w))
	assert.Equal(t, v.Runes(), w.Runes())

	for _, tc := range []struct{ in, want string }{
		{`{"kind":"bytes","unknown":0,"symbols":"ab"}`, `kind "bytes"`},
		{`{"kind":"runes","unknown":3,"symbols":"ab"}`, "unknown id 3"},
		{`{"kind":"runes","unknown":0,"symbols":"aba"}`, "entry 2 ('a') repeats entry 0"},
		{`{"kind":"runes","unknown":0,"symbols":"a\ufffd"}`, "U+FFFD"},
		{`[1,2]`, "vocabulary JSON"},
	} {
		var w Vocab
		assert.ErrorContains(t, json.Unmarshal([]byte(tc.in), &w), tc.want, tc.in)
	}
}

func TestVocabFromRunesErrors(t *testing.T) {
	_, err := VocabFromRunes([]rune{'a', 0xD800})
	assert.ErrorContains(t, err, "not a valid Unicode scalar value")
	_, err = VocabFromRunes([]rune{'a', -5})
	assert.ErrorContains(t, err, "entry 1")
	v, err := VocabFromRunes([]rune{'z', 'a'})
	require.NoError(t, err)
	assert.Equal(t, []int32{2, 1}, v.Encode("az"), "ids follow the given order")
}

// FuzzVocabJSON: decoding arbitrary JSON never panics, and whatever decodes
// re-encodes to an equal vocabulary whose Encode/Decode round-trips.
func FuzzVocabJSON(f *testing.F) {
	f.Add(`{"kind":"runes","unknown":0,"symbols":"ab世"}`)
	f.Add(`{"kind":"runes","unknown":0,"symbols":""}`)
	f.Add(`{"kind":"runes","unknown":0,"symbols":"\u0000\ud800"}`)
	f.Fuzz(func(t *testing.T, in string) {
		var v Vocab
		if json.Unmarshal([]byte(in), &v) != nil {
			return
		}
		b, err := json.Marshal(&v)
		require.NoError(t, err)
		var w Vocab
		require.NoError(t, json.Unmarshal(b, &w))
		require.Equal(t, v.Runes(), w.Runes())
		s := string(v.Runes())
		require.Equal(t, s, w.Decode(w.Encode(s)))
	})
}
