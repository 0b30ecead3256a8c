#include <stdlib.h>
#define NEW(T) ((T *)malloc(sizeof(T)))
