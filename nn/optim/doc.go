// Package optim owns ingot's optimizers — SGD (momentum, Nesterov, weight
// decay), Adam, AdamW and RMSProp with PyTorch 1.13's semantics and
// arithmetic — gradient clipping by global norm, and learning-rate
// schedules.
//
// Each update is one fused device kernel per parameter (nn/kernels), run on
// the parameter's own buffer, so parameters and optimizer state stay on the
// parameters' device and a step allocates nothing once the state exists.
// Parameters without a gradient are skipped, as in PyTorch.
//
// State is keyed by parameter name so that it rides in a checkpoint as
// extra named tensors: "optim.<param>.exp_avg", "optim.<param>.step" (int32)
// and so on, with PyTorch's buffer names. State returns it, LoadState
// restores it exactly. The learning rate is not state: schedules recompute
// it from the step.
//
// Build an optimizer after loading weights into its model: nn.Param.Set
// (and so nn.LoadStateDict) gives a parameter a new tensor, which the
// *nn.Param copies an optimizer was built from (nn.Trainable of a nested
// module) do not see.
//
// Optimizers are not safe for concurrent use.
package optim
