"""Build machinery of the bilingual VAE book (not part of vae_lib).

``python -m book build``       build both editions into ``_build/html`` (see :mod:`book.build`)
``python -m book sync-colab``  rewrite the Colab set-up cell of every notebook from ``_config.yml``
"""
