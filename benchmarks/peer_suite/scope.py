"""What the harness leaves out of the peer's test suite, and why.

A file or test is out of scope when it tests the peer's own machinery (its vector spaces,
its tracer, its extension API, its deprecated wrappers, its names) rather than derivatives
of NumPy code. Out-of-scope tests are counted and listed in the report, never run.
"""

OUT_OF_SCOPE_FILES = {
    "test_vspaces.py": "the peer's vector-space objects (vspace, ArrayVSpace)",
    "test_tests.py": "the peer's check_grads rejecting a rule defined with its defvjp",
    "test_misc.py": "the peer's const_graph and flatten utilities and its tracer primitive",
    "test_performance.py": "no tests",
}

OUT_OF_SCOPE_TESTS = {
    ("test_logic.py", "test_no_vjp_def"): "a primitive made with the peer's extend.primitive",
    ("test_logic.py", "test_no_jvp_def"): "a primitive made with the peer's extend.primitive",
    ("test_logic.py", "test_unimplemented_falseyness"):
        "removes an entry from the peer's rule table (core.primitive_vjps)",
    ("test_wrappers.py", "test_deprecated_defgrad_wrapper"): "the peer's deprecated defgrad",
    ("test_wrappers.py", "test_deprecated_defvjp_wrapper"): "the peer's deprecated defvjp",
    ("test_wrappers.py", "test_deprecated_defvjp_is_zero_wrapper"):
        "the peer's deprecated defvjp_is_zero",
    ("test_wrappers.py", "test_deprecated_quick_grad_check_wrapper"):
        "the peer's deprecated quick_grad_check",
    ("test_scipy.py", "test_convolve_generalization"):
        "the peer's own convolve, whose axes and dot_axes SciPy's convolve does not have",
    ("test_wrappers.py", "test_wrapped_name_and_docs"):
        "the __name__ and __doc__ the peer gives its wrapped functions",
}
