"""The defect catalogue (issue 16): named mutations of the twin, each a bug a
manufacturer could ship, for ``rig selftest`` to prove the testcases catch it."""
