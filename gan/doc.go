// Package gan owns ingot's generative adversarial networks: the adversarial
// training step shared by every GAN family, the image GANs (an MLP GAN after
// Goodfellow et al. 2014 and a DCGAN after Radford et al. 2016) with their
// trainer on the shared training loop (package train), a generator built
// from a VAE decoder, and sample-quality evaluation through the Fashion-MNIST
// classifier of package gan/classifier.
//
// # Reusable pieces
//
// Other GAN families (package textgan's LSTM generator and discriminator,
// for instance) can reuse:
//
//   - [DiscriminatorLoss] and [GeneratorLoss]: the non-saturating losses as
//     binary cross-entropy on logits, with one-sided label smoothing;
//   - [Adversarial]: one training step over any [Players] — functions that
//     generate a batch (recording the generator's graph) and score samples
//     — alternating DSteps discriminator updates with GSteps generator
//     updates, instance noise with a linear decay, Adam with β1 = 0.5
//     ([DefaultAdam]); optimizer state is named "optim.generator.…" and
//     "optim.discriminator.…" so both fit one checkpoint;
//   - [Classify] and [Confusion]: the discriminator's accuracy, precision,
//     recall and F1 on held-out real (positive) versus generated samples,
//     as train.Metrics named d_accuracy, d_precision, d_recall, d_f1.
//
// # Image GANs
//
// [New] builds a [Model] from a [Config]: the generator maps z ~ N(0, I)
// [N, Noise] to images [N, C, H, W] in [−1, 1] (tanh); the discriminator
// maps images to one logit each. Training data is scaled to [−1, 1]
// (data.ScaleSigned). [Train] runs the [Trainer] (a train.Task) on the
// shared loop: progress, a checkpoint per epoch and exact resume, the NaN
// guard, cancellation, metrics.json with per-epoch d_loss, g_loss, d_real,
// d_fake (training) and the four discriminator scores (held-out test images
// against as many samples from fixed noise), the loss and discriminator
// plots, and a 64-image grid from fixed noise after each epoch
// (samples_NNN.png and samples.png).
//
// Parameter names are "generator.<i>.…" and "discriminator.<i>.…", the
// indices of PyTorch nn.Sequential modules (bench/pytorch/gan.py and
// dcgan.py build the same modules), so weights move to and from PyTorch.
//
// # From a VAE
//
// [NewFromVAE] makes the generator from a VAE weight file's decoder
// (decoder.<i> → generator.<i>, last layer halved, tanh appended: see the
// comment above it); `ingot train gan --init-generator vae.safetensors.zst`
// uses it.
//
// # Evaluation
//
// [EvaluateSamples] labels generated images with the shipped classifier:
// mode coverage (classes holding at least 1% of the samples) and the
// Fréchet distance between classifier features of test images and of
// samples, beside the real-vs-real distance of two disjoint test halves.
//
// # Concurrency
//
// A Model, Trainer or Adversarial is used by one goroutine at a time.
package gan
