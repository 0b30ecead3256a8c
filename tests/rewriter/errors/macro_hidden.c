int recv_msg(int tid);
void die(const char *what);
#define CHECK(x) if ((x) < 0) die(#x)
int main(void)
{
    CHECK(recv_msg(1));
    return 0;
}
