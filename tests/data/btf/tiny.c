/* A tiny object whose BTF is the unit-test fixture of tracerd.kernel.btf. */
enum probe_color { PROBE_RED = 1, PROBE_BLUE = 2 };
typedef unsigned long long probe_u64;
struct probe_point {
	int id;
	const char *name;
	probe_u64 hits[4];
	union { int fd; float weight; } u;
	enum probe_color color;
	unsigned int flags : 3;
};
struct probe_point probe_table[2];
volatile int probe_counter;
int probe_visit(struct probe_point *p, int delta)
{
	p->hits[0] += delta;
	return p->id + probe_counter;
}
int do_nanosleep(int x) { return x * 2; }
