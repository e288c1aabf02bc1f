// Package train owns ingot's one training loop, shared by every model
// family (vae, gan, the char LM): epochs and steps over a model-provided
// step function, periodic evaluation, a progress bar with live metrics and
// throughput, a checkpoint per epoch with exact resume, a NaN/Inf guard,
// cancellation, metrics.json and PNG plots of the logged curves. It also
// writes image grids (WriteGrid), which the families use for samples and
// reconstructions.
//
// # The contract
//
// A model family implements [Task] over its batch type B: Step trains on one
// batch and returns its metrics (per example, e.g. the loss per image);
// Evaluate measures held-out data; State and LoadState expose everything a
// checkpoint needs besides the data position — model weights, optimizer
// state, RNG state. Data comes from a [Source] (data.Loader and
// data.TextBatcher are sources). [Run] drives them:
//
//	for each epoch: for each batch: Step, Device.Sync, guard, log, maybe Evaluate
//	at each epoch end: Evaluate, EndEpoch (if the task has it), checkpoint,
//	metrics.json, plots
//
// Step owns its graph: it should call ReleaseGraph on the loss once its
// values are read, so steps reuse the device's memory. Run calls the
// device's Sync once per step, so a failure of queued device work surfaces
// at the step that caused it.
//
// # Checkpoints and resume
//
// At the end of each epoch Run writes Dir/checkpoint.safetensors.zst
// atomically (nn.SaveState): the task's tensors and metadata plus the
// loop's own state under "train." keys — epoch, step, data position, the
// partial sums of an unfinished epoch, the history so far and the caller's
// Settings string. Cancelling ctx (Ctrl-C in the CLI) writes a checkpoint at
// the step reached and returns an [*InterruptedError]. With Config.Resume,
// Run restores the checkpoint and seeks the source, so the resumed run
// computes the same losses as an uninterrupted one (bit for bit on the CPU
// device with the same thread count; the test proves it). Resuming with a
// different Settings string is refused, since the losses would differ.
//
// # The NaN/Inf guard
//
// A non-finite metric stops the run with a [*NonFiniteError] naming the
// step, before anything is written: the checkpoint on disk stays the last
// good one. Tensors are also checked before each checkpoint is written.
//
// # Concurrency
//
// Run drives one task from the calling goroutine; nothing here is safe for
// concurrent use except the functions that only write files.
package train
