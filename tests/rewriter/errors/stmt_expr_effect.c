/* code before the call in a ({ }) (here from a macro) runs again on a restart */
#include <stdio.h>
int tick(int);
#define COUNTED(x) ({ calls++; tick(x); })
#define LOGGED(x) ({ printf("tick %d\n", x); tick(x); })
#define PLAIN(x) ({ int v_ = (x) * 2; tick(v_); })
#define SET(x) ({ calls = x; tick(calls); })

int main(void)
{
    int calls = 0, s = 0;
    s += COUNTED(1);
    s += LOGGED(2);
    s += PLAIN(3);
    s += SET(5);
    s += ({ int j = 0; if (s++ > 0) j = tick(4); j; });
    return s + calls;
}
