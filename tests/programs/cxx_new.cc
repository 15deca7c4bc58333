// Every form of C++ operator new and delete (plain, array, nothrow, aligned,
// sized), a throwing new caught, and a known set of blocks left unfreed.
// Its figures are checked against valgrind's (t0200-exact.sh).
// usage: cxx_new [ROUNDS [throw]]   (default 2000); prints nothing. With
// "throw" a too-large new[] throws and is caught (valgrind cannot throw from
// its operator new and aborts, so that part is checked on its own).
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

struct alignas(64) Wide {
	char bytes[64];
};
struct alignas(256) Wider {
	char bytes[512];
};

static std::vector<void *> *kept;

static void round_trip(int i)
{
	int *a = new int(i);
	delete a; // sized delete (_ZdlPvm) with -fsized-deallocation
	char *b = new char[16 + i % 32];
	delete[] b;
	int *c = new (std::nothrow) int[8];
	delete[] c;
	Wide *w = new Wide; // aligned new
	delete w;           // aligned sized delete
	Wider *ws = new Wider[3];
	delete[] ws;
	Wide *wn = new (std::nothrow) Wide;
	delete wn;
	void *raw = ::operator new(40);
	::operator delete(raw);
	void *rawn = ::operator new(48, std::nothrow);
	::operator delete(rawn, std::nothrow);
	void *ra = ::operator new(96, std::align_val_t(128));
	::operator delete(ra, std::align_val_t(128));
	void *ran = ::operator new[](96, std::align_val_t(128), std::nothrow);
	::operator delete[](ran, std::align_val_t(128), std::nothrow);
	void *rs = ::operator new[](24);
	::operator delete[](rs, 24);
	void *rsa = ::operator new(200, std::align_val_t(64));
	::operator delete(rsa, 200, std::align_val_t(64));
	std::string s(100 + i % 50, 'x'); // heap string, freed at scope end
	if (i % 100 == 0)
		kept->push_back(new char[123]);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? std::atoi(argv[1]) : 2000;
	kept = new std::vector<void *>;
	kept->reserve(rounds / 100 + 1);
	for (int i = 0; i < rounds; i++)
		round_trip(i);
	if (argc < 3 || std::string(argv[2]) != "throw")
		return 0;
	try {
		// Too large for any allocator: must throw, and tracing must go on.
		volatile size_t huge = size_t(1) << 62;
		char *never = new char[huge];
		kept->push_back(never);
	} catch (const std::bad_alloc &) {
		kept->push_back(new int(7)); // after the throw: still counted
	}
	return 0;
}
