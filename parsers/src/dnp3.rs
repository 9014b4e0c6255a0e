//! (module under construction by its issue)
