"""The VAE and autoencoder: shapes, gradients through the reparameterization, configs, bad input."""

import pytest
import torch

from vae_lib.models import VAE, Autoencoder


@pytest.mark.parametrize("arch", ["mlp", "conv"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_shapes(arch, likelihood):
    torch.manual_seed(0)
    model = VAE(z_dim=8, hidden=(64,), arch=arch, likelihood=likelihood)
    x = torch.rand(5, 784)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 8)
    decoded = model.decode(torch.randn(3, 5, 8))  # leading sample dimension is kept
    if likelihood == "bernoulli":
        assert decoded.shape == (3, 5, 784)
    else:
        assert decoded[0].shape == decoded[1].shape == (3, 5, 784)
        assert ((decoded[0] > 0) & (decoded[0] < 1)).all()
    assert model.sample(4).shape == (4, 784)
    recon = model.reconstruct(x)
    assert recon.shape == (5, 784) and ((recon >= 0) & (recon <= 1)).all()


def test_decoder_returns_logits_not_probabilities():
    torch.manual_seed(0)
    model = VAE(z_dim=2, hidden=(16,))
    logits = model.decode(torch.randn(200, 2) * 5)
    assert (logits < 0).any() and (logits > 1).any()  # unbounded real numbers, not squashed into [0, 1]


def test_mu_and_logvar_can_be_negative():
    torch.manual_seed(0)
    model = VAE(z_dim=16, hidden=(32,))
    mu, logvar = model.encode(torch.rand(64, 784))
    assert (mu < 0).any() and (logvar < 0).any()  # no ReLU squashes them


def test_gradients_reach_encoder_through_reparameterize():
    torch.manual_seed(0)
    model = VAE(z_dim=4, hidden=(32,))
    x = (torch.rand(8, 784) > 0.5).float()
    mu, logvar = model.encode(x)
    z = model.reparameterize(mu, logvar)
    model.log_likelihood(x, model.decode(z)).sum().backward()
    assert model.to_mu.weight.grad is not None and model.to_mu.weight.grad.abs().sum() > 0
    assert model.to_logvar.weight.grad is not None and model.to_logvar.weight.grad.abs().sum() > 0


def test_no_gradients_through_a_plain_sample():
    torch.manual_seed(0)
    model = VAE(z_dim=4, hidden=(32,))
    x = (torch.rand(8, 784) > 0.5).float()
    mu, logvar = model.encode(x)
    z = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).sample()  # not rsample: no path to phi
    assert not z.requires_grad
    model.log_likelihood(x, model.decode(z)).sum().backward()
    assert model.to_mu.weight.grad is None and model.to_logvar.weight.grad is None


def test_reparameterize_has_the_right_distribution():
    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.tensor([[1.5, -2.0]]), torch.tensor([[0.0, 2.0 * torch.log(torch.tensor(3.0))]])
    z = VAE.reparameterize(mu.expand(200_000, 2), logvar.expand(200_000, 2), generator=gen)
    torch.testing.assert_close(z.mean(0), mu[0], atol=0.03, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([1.0, 3.0]), atol=0.03, rtol=0)


def test_config_rebuilds_same_architecture():
    model = VAE(x_dim=64, z_dim=3, hidden=(32, 16), n_classes=10)
    clone = VAE(**model.config)
    clone.load_state_dict(model.state_dict())  # same parameter names and shapes
    assert clone.config == model.config


def test_conditional_vae_uses_the_label():
    torch.manual_seed(0)
    model = VAE(z_dim=2, hidden=(32,), n_classes=10)
    z = torch.randn(4, 2)
    a = model.decode(z, torch.zeros(4, dtype=torch.long))
    b = model.decode(z, torch.full((4,), 7))
    assert not torch.allclose(a, b)
    assert model.sample(6, y=torch.arange(6)).shape == (6, 784)
    assert model.decode(torch.randn(3, 4, 2), torch.arange(4)).shape == (3, 4, 784)


def test_autoencoder_shapes_and_linear_variant():
    ae = Autoencoder(x_dim=64, z_dim=3, hidden=(32,))
    x = torch.rand(10, 64)
    assert ae.encode(x).shape == (10, 3)
    out = ae(x)
    assert out.shape == (10, 64) and ((out > 0) & (out < 1)).all()
    lin = Autoencoder(x_dim=64, z_dim=3, linear=True)
    assert isinstance(lin.encoder, torch.nn.Linear) and isinstance(lin.decoder, torch.nn.Linear)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(z_dim=0), ValueError),
        (dict(z_dim=-3), ValueError),
        (dict(z_dim=2.5), ValueError),
        (dict(x_dim=0), ValueError),
        (dict(hidden=()), ValueError),
        (dict(hidden=(0,)), ValueError),
        (dict(arch="resnet"), ValueError),
        (dict(likelihood="poisson"), ValueError),
        (dict(arch="conv", x_dim=64), ValueError),
        (dict(n_classes=0), ValueError),
        (dict(gaussian_var=0.0), ValueError),
    ],
)
def test_bad_constructor_arguments(kwargs, error):
    with pytest.raises(error):
        VAE(**kwargs)


def test_bad_inputs_to_encode_and_decode():
    model = VAE(z_dim=4, hidden=(16,))
    with pytest.raises(ValueError, match="shape"):
        model.encode(torch.rand(3, 28, 28))
    with pytest.raises(ValueError, match=r"\[batch, 784\]"):
        model.encode(torch.rand(3, 100))
    with pytest.raises(TypeError, match="floating-point"):
        model.encode(torch.randint(0, 255, (3, 784), dtype=torch.uint8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model.encode([[0.0] * 784])
    with pytest.raises(ValueError, match="z_dim"):
        model.decode(torch.randn(3, 5))
    with pytest.raises(ValueError, match="not conditional"):
        model.encode(torch.rand(3, 784), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="n \\(number of samples\\)"):
        model.sample(0)


def test_conditional_vae_needs_valid_labels():
    model = VAE(z_dim=2, hidden=(16,), n_classes=3)
    x = torch.rand(4, 784)
    with pytest.raises(ValueError, match="pass labels"):
        model.encode(x)
    with pytest.raises(ValueError, match="0..2"):
        model.encode(x, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(TypeError, match="integer"):
        model.encode(x, torch.zeros(4))
    with pytest.raises(ValueError, match="shape"):
        model.encode(x, torch.zeros(5, dtype=torch.long))
