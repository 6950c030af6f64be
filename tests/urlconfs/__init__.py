"""URLconfs the tests of the public door and of the reserved usage domains switch to."""
