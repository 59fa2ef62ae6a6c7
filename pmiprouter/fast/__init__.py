"""CPython speed techniques, fenced: the only package that may use them (docs/adr/0013).

Domain modules read like the RFCs; what they need fast is built here, each technique with a
reference-model test that holds it equal to the plain construction (tests/fast/).
"""
