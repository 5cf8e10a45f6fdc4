/*
 * sanitize: sanitizer run-time options for every unit test binary (the
 * Makefile links each object of tests/unit/helpers into all of them).
 */

/*
 * Under SANITIZE=undefined, undefined behaviour fails the test instead of
 * printing a line among passing ones.
 */
const char *__ubsan_default_options(void);
const char *
__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}
