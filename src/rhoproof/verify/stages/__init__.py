"""The stages of the V_irrep cascade (docs/soundness.md §2.1), one module each, and the
context they share:

* ``context``: the proof context (the ideal's margins per orbit [H1] included), the work
  record the stages pass along, and the ``ProofStage`` interface;
* ``separable``: stage 1 [S1], a(x) + b(y) + K without visiting the inputs;
* ``per_input``: stage 2, the largest spread per input;
* ``per_output``: stage 3, each of the top-k wrong outputs with its own spread.

``irrep.STAGES`` lists them in order; the optional exact stage (brute force on what is left)
is ``certificate._exact_stage``.
"""
