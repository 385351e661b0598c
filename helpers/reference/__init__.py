"""Reference answers to the lessons' graded exercises, kept apart by location.

Every module here implements some lesson's exercises (the reference model, sampling,
training hooks, resource formulas, DDP variants, filters, GRPO losses) and names the
lessons it answers in a module-level ``ANSWERS = ("02_transformer_lm",)``. Because of that:

- ``python -m grader release NN`` ships a module here only from the lesson after the last
  one it answers on;
- ``grader.sandbox.answer_modules`` hides it from the kernel while its lesson (or an
  earlier one) is graded, so a submission cannot import the answer.

Later lessons build on these modules as the kit's finished components (lesson 08's policy is
``helpers.reference.model.ReferenceLM``). Machinery that answers nothing lives in ``helpers/``.
``grader/tests/test_release.py`` checks that every module here declares ``ANSWERS`` and that
no module outside this folder (and the tuned kernels in ``kernels/``) does.
"""
