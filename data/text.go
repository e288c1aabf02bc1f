package data

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// MaxTextBytes caps the size of a text file LoadText reads (256 MiB of
// characters is far beyond what a character model trains on here).
const MaxTextBytes = 256 << 20

// TextError reports a text file that is not valid UTF-8, or too large.
type TextError struct {
	Name   string
	Offset int64 // byte offset of the first invalid byte (in the decompressed text)
	Line   int   // 1-based line of that byte
	Msg    string
}

func (e *TextError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("data: text file %s: %s at byte offset %d (line %d)", e.Name, e.Msg, e.Offset, e.Line)
	}
	return fmt.Sprintf("data: text file %s: %s", e.Name, e.Msg)
}

// LoadText reads a UTF-8 text file, raw or gzip-compressed (detected by its
// magic bytes). A leading byte-order mark is dropped and CRLF line ends
// become LF; any other invalid UTF-8 is an error naming the byte offset.
func LoadText(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ReadText(f, path)
}

// ReadText is LoadText for a stream; name labels errors.
func ReadText(r io.Reader, name string) (string, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if h, _ := br.Peek(2); len(h) == 2 && h[0] == 0x1f && h[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", fmt.Errorf("data: text file %s: bad gzip header: %w", name, err)
		}
		defer zr.Close()
		src = zr
	}
	b, err := io.ReadAll(io.LimitReader(src, MaxTextBytes+1))
	if err != nil {
		return "", fmt.Errorf("data: text file %s: %w", name, err)
	}
	if len(b) > MaxTextBytes {
		return "", &TextError{Name: name, Msg: fmt.Sprintf("larger than the %d-byte limit", MaxTextBytes)}
	}
	if off := invalidUTF8(b); off >= 0 {
		return "", &TextError{Name: name, Offset: int64(off), Line: bytes.Count(b[:off], []byte{'\n'}) + 1,
			Msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02X)", b[off])}
	}
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	if bytes.Contains(b, []byte("\r\n")) {
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	}
	return string(b), nil
}

// invalidUTF8 returns the offset of the first invalid UTF-8 byte, or −1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// The shipped corpora (see data/text/NOTICE.md).
//
//go:embed text/pride-and-prejudice.txt.gz text/tang300.txt
var embeddedText embed.FS

// CorpusInfo describes a shipped corpus.
type CorpusInfo struct {
	Name, Title, Language, File string
}

// Corpora lists the shipped public-domain corpora; the first is the default.
var Corpora = []CorpusInfo{
	{Name: "austen", Title: "Jane Austen, Pride and Prejudice (1813)", Language: "en", File: "text/pride-and-prejudice.txt.gz"},
	{Name: "tang300", Title: "Three Hundred Tang Poems (唐诗三百首)", Language: "zh", File: "text/tang300.txt"},
}

// DefaultCorpus is the name of the corpus character models train on by
// default.
const DefaultCorpus = "austen"

// LoadCorpus returns the text of a shipped corpus by name.
func LoadCorpus(name string) (string, error) {
	for _, c := range Corpora {
		if c.Name == name {
			f, err := embeddedText.Open(c.File)
			if err != nil {
				return "", fmt.Errorf("data: corpus %s: %w", name, err)
			}
			defer f.Close()
			return ReadText(f, "embedded:"+c.File)
		}
	}
	names := make([]string, len(Corpora))
	for i, c := range Corpora {
		names[i] = c.Name
	}
	return "", fmt.Errorf("data: no corpus %q (have %s)", name, strings.Join(names, ", "))
}

// SplitHeldOut splits a token stream into a training part and a held-out
// tail of the given fraction (in [0, 1)). The tail is contiguous, not
// sampled, so no text of the held-out part leaks into training.
func SplitHeldOut(ids []int32, frac float64) (train, heldOut []int32, err error) {
	if !(frac >= 0 && frac < 1) {
		return nil, nil, fmt.Errorf("data: held-out fraction %v, must be in [0, 1)", frac)
	}
	cut := len(ids) - int(float64(len(ids))*frac)
	return ids[:cut:cut], ids[cut:], nil
}

// Layout is the memory order of a text batch.
type Layout int

const (
	TimeMajor  Layout = iota // [seq, batch]: element (t, b) at t*batch+b; step t's ids are contiguous
	BatchMajor               // [batch, seq]: element (b, t) at b*seq+t
)

// TextOptions configures a TextBatcher.
type TextOptions struct {
	Layout Layout
	// RandomOffset starts each epoch's chunks at an offset drawn from
	// PCG(Seed, epoch) in [0, seqLen), so chunk boundaries move between
	// epochs. Off, every epoch is the same.
	RandomOffset bool
	Seed         uint64
}

// TextBatch is one chunk for truncated backpropagation through time: Input
// and Target hold Batch×Seq ids in the batcher's layout, Target being Input
// shifted one step ahead in the same track. Chunk k+1 continues chunk k in
// every track, so a model carries its recurrent state from one to the next
// and resets it when Step is 0.
type TextBatch struct {
	Input, Target []int32
	Batch, Seq    int // Seq may be shorter than seqLen in the last chunk
	Epoch, Step   int
}

// TextBatcher cuts a token stream into Batch parallel tracks of equal length
// (the stream's tail that does not fill a track is dropped) and yields them
// in chunks of up to seqLen steps. It is not safe for concurrent use.
type TextBatcher struct {
	ids          []int32
	batch, seq   int
	trackLen     int // tokens per track
	opts         TextOptions
	epoch, step  int
	offset       int // start of chunk 0 within each track this epoch
	stepsInEpoch int
}

// NewTextBatcher makes a batcher positioned at epoch 0, step 0. Every track
// needs at least two tokens (one input and its target).
func NewTextBatcher(ids []int32, batch, seqLen int, opts TextOptions) (*TextBatcher, error) {
	if batch <= 0 || seqLen <= 0 {
		return nil, fmt.Errorf("data: text batch %d and sequence length %d must be positive", batch, seqLen)
	}
	if opts.Layout != TimeMajor && opts.Layout != BatchMajor {
		return nil, fmt.Errorf("data: unknown text layout %d", opts.Layout)
	}
	t := len(ids) / batch
	if t < 2 {
		return nil, fmt.Errorf("data: %d tokens are too few for %d tracks (each needs at least 2)", len(ids), batch)
	}
	b := &TextBatcher{ids: ids, batch: batch, seq: seqLen, trackLen: t, opts: opts}
	b.startEpoch(0)
	return b, nil
}

// TrackLen is the number of tokens in each track.
func (b *TextBatcher) TrackLen() int { return b.trackLen }

// StepsPerEpoch is the number of chunks in the current epoch (it can vary by
// one between epochs with RandomOffset).
func (b *TextBatcher) StepsPerEpoch() int { return b.stepsInEpoch }

// Position returns the epoch and step of the next chunk.
func (b *TextBatcher) Position() (epoch, step int) { return b.epoch, b.step }

// Seek positions the batcher so that the next chunk is step of epoch.
func (b *TextBatcher) Seek(epoch, step int) error {
	if epoch < 0 || step < 0 {
		return fmt.Errorf("data: text seek to epoch %d step %d: must not be negative", epoch, step)
	}
	b.startEpoch(epoch)
	if step > b.stepsInEpoch {
		return fmt.Errorf("data: text seek to epoch %d step %d: the epoch has %d steps", epoch, step, b.stepsInEpoch)
	}
	b.step = step
	return nil
}

func (b *TextBatcher) startEpoch(e int) {
	b.epoch, b.step, b.offset = e, 0, 0
	if b.opts.RandomOffset && b.seq > 1 {
		var p rand.PCG
		p.Seed(mix64(b.opts.Seed^0x7f4a7c159e3779b9), mix64(uint64(e)))
		b.offset = int(uniform(&p, uint64(min(b.seq, b.trackLen-1))))
	}
	// Inputs are positions offset .. trackLen−2 (each needs a target).
	n := b.trackLen - 1 - b.offset
	b.stepsInEpoch = (n + b.seq - 1) / b.seq
}

// Next fills c with the next chunk and returns true, or returns false at the
// end of the epoch and moves to the start of the next one. c's buffers are
// reused.
func (b *TextBatcher) Next(c *TextBatch) bool {
	if b.step >= b.stepsInEpoch {
		b.startEpoch(b.epoch + 1)
		return false
	}
	start := b.offset + b.step*b.seq
	seq := min(b.seq, b.trackLen-1-start)
	n := b.batch * seq
	if cap(c.Input) < n {
		c.Input = make([]int32, b.batch*b.seq)
	}
	if cap(c.Target) < n {
		c.Target = make([]int32, b.batch*b.seq)
	}
	c.Input, c.Target = c.Input[:n], c.Target[:n]
	c.Batch, c.Seq, c.Epoch, c.Step = b.batch, seq, b.epoch, b.step
	for k := range b.batch {
		track := b.ids[k*b.trackLen : (k+1)*b.trackLen]
		in := track[start : start+seq]
		tg := track[start+1 : start+seq+1]
		if b.opts.Layout == BatchMajor {
			copy(c.Input[k*seq:], in)
			copy(c.Target[k*seq:], tg)
			continue
		}
		for t := range seq {
			c.Input[t*b.batch+k] = in[t]
			c.Target[t*b.batch+k] = tg[t]
		}
	}
	b.step++
	return true
}
