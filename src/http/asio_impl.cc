// Separate compilation of Boost.Asio (incl. SSL) and Boost.Beast: their implementation is
// compiled here once; every other TU sees only declarations (BOOST_*_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
