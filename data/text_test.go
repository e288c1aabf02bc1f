package data

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadText(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"plain", []byte("abc\n"), "abc\n"},
		{"chinese", []byte("床前明月光\n"), "床前明月光\n"},
		{"bom dropped", []byte("\uFEFFhi"), "hi"},
		{"crlf", []byte("a\r\nb\r\n"), "a\nb\n"},
		{"lone cr kept", []byte("a\rb"), "a\rb"},
		{"gzip", gz(t, []byte("白日依山尽\n")), "白日依山尽\n"},
		{"empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "in.txt")
			require.NoError(t, os.WriteFile(p, tc.in, 0o644))
			s, err := LoadText(p)
			require.NoError(t, err)
			assert.Equal(t, tc.want, s)
		})
	}
}

func TestLoadTextInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     []byte
		offset int64
		line   int
		b      string
	}{
		{"latin-1 byte", []byte("caf\xe9 au lait"), 3, 1, "0xE9"},
		{"second line", []byte("ok\n明月\xff"), 9, 2, "0xFF"},
		{"cut multibyte", []byte("ab\n\ncd\xe6\x98"), 6, 3, "0xE6"},
		{"surrogate", []byte("x\xed\xa0\x80"), 1, 1, "0xED"},
		{"overlong", []byte("\xc0\xaf"), 0, 1, "0xC0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.txt")
			require.NoError(t, os.WriteFile(p, tc.in, 0o644))
			_, err := LoadText(p)
			require.Error(t, err)
			var te *TextError
			require.True(t, errors.As(err, &te))
			assert.Equal(t, p, te.Name)
			assert.Equal(t, tc.offset, te.Offset)
			assert.Equal(t, tc.line, te.Line)
			assert.Contains(t, err.Error(), p)
			assert.Contains(t, err.Error(), "invalid UTF-8 (byte "+tc.b+")")
		})
	}
	_, err := LoadText(filepath.Join(t.TempDir(), "missing.txt"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestCorpora(t *testing.T) {
	for _, tc := range []struct {
		name, start, end string
		bytes            int
	}{
		{"austen", "PRIDE AND PREJUDICE\n\nBy Jane Austen", "had been the means of uniting them.\n", 684768},
		{"tang300", "《感遇・其一》\n作者：张九龄\n兰叶春葳蕤，桂华秋皎洁。", "花开堪折直须折，莫待无花空折枝。\n", 83605},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadCorpus(tc.name)
			require.NoError(t, err)
			assert.Len(t, s, tc.bytes)
			assert.True(t, strings.HasPrefix(s, tc.start))
			assert.True(t, strings.HasSuffix(s, tc.end))
			assert.True(t, utf8.ValidString(s))
		})
	}
	zh, err := LoadCorpus("tang300")
	require.NoError(t, err)
	assert.Contains(t, zh, "《春晓》\n作者：孟浩然\n春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。")
	assert.Equal(t, 313, strings.Count(zh, "作者："))
	_, err = LoadCorpus("klingon")
	assert.ErrorContains(t, err, `no corpus "klingon" (have austen, tang300)`)
}

func TestSplitHeldOut(t *testing.T) {
	ids := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	tr, ho, err := SplitHeldOut(ids, 0.2)
	require.NoError(t, err)
	assert.Equal(t, []int32{0, 1, 2, 3, 4, 5, 6, 7}, tr)
	assert.Equal(t, []int32{8, 9}, ho)
	tr = append(tr, 42) // must not overwrite the held-out part
	assert.Equal(t, []int32{8, 9}, ho)
	_, _, err = SplitHeldOut(ids, 1)
	assert.ErrorContains(t, err, "held-out fraction 1")
}

// collect runs one epoch and returns its chunks (copied).
func collect(t *testing.T, b *TextBatcher) []TextBatch {
	var out []TextBatch
	var c TextBatch
	for b.Next(&c) {
		out = append(out, TextBatch{Input: slices.Clone(c.Input), Target: slices.Clone(c.Target),
			Batch: c.Batch, Seq: c.Seq, Epoch: c.Epoch, Step: c.Step})
	}
	return out
}

func TestTextBatcherKnownChunks(t *testing.T) {
	// 23 tokens, 3 tracks of 7 (tokens 21, 22 dropped): tracks are
	// 0..6, 7..13, 14..20; inputs are positions 0..5, in chunks of 4 then 2.
	ids := make([]int32, 23)
	for i := range ids {
		ids[i] = int32(i)
	}
	t.Run("time major", func(t *testing.T) {
		b, err := NewTextBatcher(ids, 3, 4, TextOptions{})
		require.NoError(t, err)
		assert.Equal(t, 7, b.TrackLen())
		assert.Equal(t, 2, b.StepsPerEpoch())
		ch := collect(t, b)
		require.Len(t, ch, 2)
		assert.Equal(t, 4, ch[0].Seq)
		assert.Equal(t, []int32{0, 7, 14, 1, 8, 15, 2, 9, 16, 3, 10, 17}, ch[0].Input)
		assert.Equal(t, []int32{1, 8, 15, 2, 9, 16, 3, 10, 17, 4, 11, 18}, ch[0].Target)
		assert.Equal(t, 2, ch[1].Seq)
		assert.Equal(t, []int32{4, 11, 18, 5, 12, 19}, ch[1].Input)
		assert.Equal(t, []int32{5, 12, 19, 6, 13, 20}, ch[1].Target)
	})
	t.Run("batch major", func(t *testing.T) {
		b, err := NewTextBatcher(ids, 3, 4, TextOptions{Layout: BatchMajor})
		require.NoError(t, err)
		ch := collect(t, b)
		require.Len(t, ch, 2)
		assert.Equal(t, []int32{0, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 17}, ch[0].Input)
		assert.Equal(t, []int32{1, 2, 3, 4, 8, 9, 10, 11, 15, 16, 17, 18}, ch[0].Target)
		assert.Equal(t, []int32{4, 5, 11, 12, 18, 19}, ch[1].Input)
		assert.Equal(t, []int32{5, 6, 12, 13, 19, 20}, ch[1].Target)
	})
}

// Over an epoch each track's inputs, concatenated chunk after chunk, are
// the track's text itself: state carried from chunk to chunk sees
// contiguous text. Checked on the Chinese corpus.
func TestTextBatcherContiguousTracks(t *testing.T) {
	zh, err := LoadCorpus("tang300")
	require.NoError(t, err)
	v := NewVocab(zh)
	ids := v.Encode(zh)
	const batch, seq = 8, 50
	b, err := NewTextBatcher(ids, batch, seq, TextOptions{})
	require.NoError(t, err)
	tl := b.TrackLen()
	tracks := make([][]int32, batch)
	var last []int32
	for _, c := range collect(t, b) {
		last = c.Target
		for k := range batch {
			for s := range c.Seq {
				tracks[k] = append(tracks[k], c.Input[s*batch+k])
			}
		}
	}
	for k := range batch {
		want := ids[k*tl : (k+1)*tl-1]
		require.Equal(t, want, tracks[k])
		assert.Equal(t, ids[(k+1)*tl-1], last[len(last)-batch+k], "last target ends the track")
	}
	assert.True(t, strings.HasPrefix(v.Decode(tracks[0]), "《感遇・其一》"))
}

func TestTextBatcherRandomOffsetAndSeek(t *testing.T) {
	ids := make([]int32, 1000)
	for i := range ids {
		ids[i] = int32(i % 97)
	}
	opts := TextOptions{RandomOffset: true, Seed: 11}
	a, err := NewTextBatcher(ids, 4, 16, opts)
	require.NoError(t, err)
	var epochs [][]TextBatch
	for range 4 {
		epochs = append(epochs, collect(t, a))
	}
	starts := map[int32]bool{}
	for e, ch := range epochs {
		starts[ch[0].Input[0]] = true // first token of track 0 = the offset
		assert.Less(t, ch[0].Input[0], int32(16), "epoch %d offset within one chunk", e)
		for _, c := range ch {
			assert.Equal(t, e, c.Epoch)
		}
	}
	assert.Greater(t, len(starts), 1, "offsets differ between epochs")

	// Same seed: same chunks; Seek lands on the same chunk mid-epoch.
	b, err := NewTextBatcher(ids, 4, 16, opts)
	require.NoError(t, err)
	require.NoError(t, b.Seek(2, 5))
	var c TextBatch
	require.True(t, b.Next(&c))
	assert.Equal(t, epochs[2][5].Input, c.Input)
	assert.Equal(t, epochs[2][5].Target, c.Target)
	e, s := b.Position()
	assert.Equal(t, [2]int{2, 6}, [2]int{e, s})
	assert.ErrorContains(t, b.Seek(0, 1000), "the epoch has")
}

func TestTextBatcherErrors(t *testing.T) {
	_, err := NewTextBatcher([]int32{1, 2, 3}, 2, 4, TextOptions{})
	assert.ErrorContains(t, err, "3 tokens are too few for 2 tracks")
	_, err = NewTextBatcher([]int32{1, 2, 3}, 0, 4, TextOptions{})
	assert.ErrorContains(t, err, "must be positive")
	_, err = NewTextBatcher([]int32{1, 2, 3}, 1, 4, TextOptions{Layout: 9})
	assert.ErrorContains(t, err, "unknown text layout")
}

func TestTextBatcherSteadyStateAllocations(t *testing.T) {
	ids := make([]int32, 5000)
	b, err := NewTextBatcher(ids, 8, 32, TextOptions{RandomOffset: true, Seed: 3})
	require.NoError(t, err)
	var c TextBatch
	b.Next(&c)
	// 100 calls cross several epoch ends (about 20 steps per epoch).
	assert.Zero(t, testing.AllocsPerRun(100, func() { b.Next(&c) }))
}

// FuzzReadText: ReadText accepts exactly the valid UTF-8 inputs (after
// gzip detection), and on rejection points at the first invalid byte.
func FuzzReadText(f *testing.F) {
	f.Add([]byte("plain"))
	f.Add([]byte("明月\xff"))
	f.Add([]byte("\uFEFFa\r\nb"))
	f.Add([]byte{0x1f, 0x8b, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ReadText(bytes.NewReader(in), "fuzz")
		if len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b {
			return // gzip: content checked by the plain path
		}
		if utf8.Valid(in) {
			require.NoError(t, err)
			require.True(t, utf8.ValidString(s))
			return
		}
		var te *TextError
		require.True(t, errors.As(err, &te), "error %v", err)
		require.True(t, utf8.Valid(in[:te.Offset]))
		r, n := utf8.DecodeRune(in[te.Offset:])
		require.True(t, r == utf8.RuneError && n == 1, "offset %d does not start an invalid sequence", te.Offset)
	})
}
