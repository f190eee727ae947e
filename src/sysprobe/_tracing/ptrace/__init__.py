"""The ptrace backend: python-ptrace's binding, our own wait loop and decoders."""
