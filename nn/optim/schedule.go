package optim

import "math"

// Schedule gives the learning-rate factor for a step (0-based): the
// learning rate at step s is base·Factor(s). Schedules compose: Then
// switches from one to another, Product multiplies, WarmUp prepends a
// linear ramp.
type Schedule interface {
	Factor(step int) float64
}

// ScheduleFunc adapts a function to Schedule.
type ScheduleFunc func(step int) float64

// Factor implements Schedule.
func (f ScheduleFunc) Factor(step int) float64 { return f(step) }

// Constant is the factor 1 at every step.
func Constant() Schedule { return ScheduleFunc(func(int) float64 { return 1 }) }

// StepDecay multiplies the factor by gamma every `every` steps (PyTorch's
// StepLR): gamma^⌊step/every⌋.
func StepDecay(every int, gamma float64) Schedule {
	every = max(every, 1)
	return ScheduleFunc(func(step int) float64 { return math.Pow(gamma, float64(step/every)) })
}

// Cosine anneals the factor from 1 to minFactor over `steps` steps along a
// half cosine (PyTorch's CosineAnnealingLR closed form) and stays at
// minFactor afterwards.
func Cosine(steps int, minFactor float64) Schedule {
	steps = max(steps, 1)
	return ScheduleFunc(func(step int) float64 {
		t := min(float64(step), float64(steps)) / float64(steps)
		return minFactor + (1-minFactor)*(1+math.Cos(math.Pi*t))/2
	})
}

// Linear goes linearly from factor start to end over `steps` steps and
// then stays at end (PyTorch's LinearLR).
func Linear(start, end float64, steps int) Schedule {
	steps = max(steps, 1)
	return ScheduleFunc(func(step int) float64 {
		t := min(float64(step), float64(steps)) / float64(steps)
		return start + (end-start)*t
	})
}

// Then follows first for steps [0, n) and second, restarted at 0, from
// step n on (PyTorch's SequentialLR with one milestone).
func Then(first Schedule, n int, second Schedule) Schedule {
	return ScheduleFunc(func(step int) float64 {
		if step < n {
			return first.Factor(step)
		}
		return second.Factor(step - n)
	})
}

// Product multiplies the factors of schedules.
func Product(ss ...Schedule) Schedule {
	return ScheduleFunc(func(step int) float64 {
		f := 1.0
		for _, s := range ss {
			f *= s.Factor(step)
		}
		return f
	})
}

// WarmUp ramps the factor linearly from 1/steps to 1 over the first
// `steps` steps (step s gives (s+1)/steps), then follows s from its step 0.
func WarmUp(steps int, s Schedule) Schedule {
	if steps <= 0 {
		return s
	}
	ramp := ScheduleFunc(func(step int) float64 { return float64(step+1) / float64(steps) })
	return Then(ramp, steps, s)
}

// Apply sets opt's learning rate to base·s.Factor(step).
func Apply(opt Optimizer, base float64, s Schedule, step int) { opt.SetLR(base * s.Factor(step)) }
