#include <iostream>
#include <vector>

namespace demo {

template <typename T>
class Stack {
 public:
  void push(const T& value) { items_.push_back(value); }
  T pop() {
    T top = items_.back();
    items_.pop_back();
    return top;
  }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<T> items_;
};

}  // namespace demo

int main() {
  demo::Stack<int> stack;
  for (int i = 0; i < 3; ++i) stack.push(i);
  while (!stack.empty()) std::cout << stack.pop() << std::endl;
  return 0;
}
