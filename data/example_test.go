package data_test

import (
	"encoding/json"
	"fmt"

	"github.com/ingotml/ingot/data"
)

// The embedded subset needs no download; Find("") would prefer the full set
// of Debian's dataset-fashion-mnist when it is installed.
func ExampleDefault() {
	train, err := data.Default(data.Train)
	if err != nil {
		panic(err)
	}
	fmt.Println(train.N, train.Rows, train.Cols, data.FashionMNISTClasses[train.Labels[0]])
	// Output: 6000 28 28 Ankle boot
}

func ExampleNewLoader() {
	test, err := data.Default(data.Test)
	if err != nil {
		panic(err)
	}
	l, err := data.NewLoader(test, 128, data.LoaderOptions{Seed: 1, Shuffle: true, Scale: data.ScaleSigned})
	if err != nil {
		panic(err)
	}
	var b data.Batch // reused by every call
	steps := 0
	for l.Next(&b) {
		steps++ // b.X is [b.N, 784] in [-1, 1], b.Labels its classes
	}
	fmt.Println(steps, "steps; last batch", b.N, "images")
	// Output: 8 steps; last batch 104 images
}

func ExampleVocab() {
	v := data.NewVocab("春眠不觉晓，处处闻啼鸟。")
	ids := v.Encode("处处闻啼鸟")
	fmt.Println(v.Size(), ids, v.Decode(ids))
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
	// Output:
	// 12 [4 4 9 3 10] 处处闻啼鸟
	// {"kind":"runes","unknown":0,"symbols":"。不啼处春晓眠觉闻鸟，"}
}

func ExampleTextBatcher() {
	text, err := data.LoadCorpus(data.DefaultCorpus)
	if err != nil {
		panic(err)
	}
	v := data.NewVocab(text)
	train, heldOut, _ := data.SplitHeldOut(v.Encode(text), 0.1)
	b, err := data.NewTextBatcher(train, 32, 64, data.TextOptions{})
	if err != nil {
		panic(err)
	}
	var c data.TextBatch
	b.Next(&c) // c.Input, c.Target: [64, 32] time-major; reset state when c.Step == 0
	fmt.Println(v.Size(), len(heldOut), b.StepsPerEpoch(), c.Seq, c.Batch)
	// Output: 76 68476 301 64 32
}
