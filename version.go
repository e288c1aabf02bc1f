// Package ingot trains and runs GANs, VAEs and LSTM sequence models on
// Apple-silicon GPUs through Metal, and on any CPU in pure Go. The work is
// done by its subpackages: tensor (arrays, autograd, devices), nn (layers,
// losses, weight files), nn/optim, data, train, vae, gan, and the ingot
// command in cmd/ingot.
package ingot

// Version is ingot's version, recorded in weight files.
const Version = "0.1.0-dev"
