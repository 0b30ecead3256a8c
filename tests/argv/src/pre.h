#define EXTRA 42
