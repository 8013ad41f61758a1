// Test fixture: never compiled by the tests.
int answer() { return 42; }
