fn main() {
    eprintln!("centinela: pipeline under construction");
    std::process::exit(2);
}
