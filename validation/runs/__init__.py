"""Measurements and what is decided from them: protocols, the store, the runner, the analyses.

    protocol     a whole measurement (`Protocol`, `run`) and the curves read back from it
    store        the resumable results folder (shards, manifest, atomic writes)
    distributed  several processes (torchrun) sharing one run
    preflight    every argument checked before anything is fetched, loaded or written
    runner       the parts of a command measured domain by domain: tables and failures
    claims       the catalogue of the paper's claims (id, statement, rule from wzbounds.claims)
    analysis     validate's analysis: the curves of each domain, the findings, the figures' fits
    presets      validate's presets (quick, standard, full)
    contests     the arena's analysis: the leaderboard and the exponent contests
    panels       every measured curve exported, per domain and part
"""
