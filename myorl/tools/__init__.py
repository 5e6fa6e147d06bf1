"""Read-only tools over finished runs: evaluate (and video), compare. Entry points: `myorl.evaluate`, `myorl.compare`."""
