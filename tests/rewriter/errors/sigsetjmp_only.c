/* sigsetjmp in a function that reaches a safe point, its siglongjmp elsewhere;
 * setjmp in a function that reaches none is fine */
#include <setjmp.h>
#include <signal.h>

int exchange(int);
static sigjmp_buf env;
static jmp_buf quiet;

void on_alarm(int sig)
{
    siglongjmp(env, sig);
}

static int no_safe_point(void)
{
    return setjmp(quiet);
}

int main(void)
{
    if (sigsetjmp(env, 1) == 0)
        exchange(1);
    return no_safe_point();
}
