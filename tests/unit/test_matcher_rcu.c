#include "evr_test.h"
int main(void) { CHECK(0 && "not written yet"); EVR_TEST_DONE(); }
