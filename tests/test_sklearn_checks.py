"""scikit-learn's own estimator checks on KANRegressor and KANClassifier.

Every check runs; none is declared an expected failure
(``kanhw.estimator.EXPECTED_FAILED_CHECKS`` is empty, and docs/training.md
says so). Checks that need pandas or ``SCIPY_ARRAY_API`` skip without them.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from kanhw.estimator import EXPECTED_FAILED_CHECKS, KANClassifier, KANRegressor


@parametrize_with_checks([KANRegressor(), KANClassifier()],
                         expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
