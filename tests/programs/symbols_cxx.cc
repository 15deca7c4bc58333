// C++ allocation sites for the symbolization tests (t0150-symbols.sh): a
// static member of a class template in a namespace and a member function
// of a plain class, so their names must come out demangled:
// ns::Widget<int>::make(unsigned long) and ns::Pool::grab(unsigned long).
// Keeps every block (3 × 40 bytes from make, 2 × 96 from grab); prints
// nothing.
#include <cstdlib>
#include <vector>

namespace ns {

template <typename T> struct Widget {
	__attribute__((noinline)) static T *make(unsigned long n)
	{
		T *p = new T[n]; // @cxx-make
		p[0] = T();
		return p;
	}
};

class Pool {
public:
	__attribute__((noinline)) void *grab(unsigned long n)
	{
		void *p = std::malloc(n); // @cxx-grab
		kept_.push_back(p);
		return p;
	}
	std::vector<void *> kept_;
};

} // namespace ns

std::vector<int *> widgets;
ns::Pool *pool;

int main()
{
	pool = new ns::Pool;
	pool->kept_.reserve(8);
	widgets.reserve(8);
	for (int i = 0; i < 3; i++)
		widgets.push_back(ns::Widget<int>::make(10));
	for (int i = 0; i < 2; i++)
		pool->grab(96);
	return widgets.size() == 3 ? 0 : 1;
}
