/* stub: to be written */
typedef int pyleak_stub_unit;
